import { behaviourSuite } from './behaviour.suite.js';
import { memoryBusFactory } from '../support/harness.js';

behaviourSuite(memoryBusFactory());

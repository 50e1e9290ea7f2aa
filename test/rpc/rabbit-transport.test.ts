import { behaviourSuite } from './behaviour.suite.js';
import { rabbitBusFactory } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

behaviourSuite(rabbitBusFactory(brokerUrl));

/**
 * The db behaviour suite on MariaDB/MySQL. Needs a reachable server (NOVARPC_TEST_DATABASE_URL
 * or mysql://root@127.0.0.1:3306/test): without one every test fails, none is skipped.
 */
import { describeDbBehaviour } from './behaviour/db-behaviour.js';
import { createMariaDbDatabase } from './behaviour/databases.js';

describeDbBehaviour('MariaDB', createMariaDbDatabase);

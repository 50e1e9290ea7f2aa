/** The db behaviour suite on SQLite (a temporary file), the embedded default. */
import { describeDbBehaviour } from './behaviour/db-behaviour.js';
import { createSqliteDatabase } from './behaviour/databases.js';

describeDbBehaviour('SQLite', createSqliteDatabase);

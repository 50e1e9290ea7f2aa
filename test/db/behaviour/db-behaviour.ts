/**
 * The behaviour every engine must show, as one suite run against MariaDB and SQLite.
 */
import { describe } from 'vitest';
import { catalogueSuite } from './catalogue-suite.js';
import type { TestDatabase } from './databases.js';
import { useDbFixture } from './fixture.js';
import { historySuite } from './history-suite.js';
import { hostSuite } from './host-suite.js';
import { instanceSuite } from './instance-suite.js';
import { loggingSuite } from './logging-suite.js';
import { migrationSuite } from './migration-suite.js';
import { networkSuite } from './network-suite.js';

/** Registers the whole db behaviour suite on a database opened by `openDatabase`. */
export function describeDbBehaviour(engine: string, openDatabase: () => Promise<TestDatabase>): void {
  describe(`db layer on ${engine}`, () => {
    const fixture = useDbFixture(openDatabase);
    migrationSuite(fixture);
    instanceSuite(fixture);
    catalogueSuite(fixture);
    hostSuite(fixture);
    networkSuite(fixture);
    historySuite(fixture);
    loggingSuite(fixture);
  });
}

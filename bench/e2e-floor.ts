/**
 * The database's floor for the e2e benchmark: what raw mysql2 reaches on the same
 * MariaDB when each "boot" is nothing but its commits. A boot here INSERTs one row and
 * then UPDATEs it by uuid, one autocommit statement per commit (prepared statements on
 * a pool as large as the services' pool), so `commitsPerBoot` single-row commits in a
 * row, with `concurrency` boots in flight, as the real run has servers in flight. No
 * network, no broker, no service logic: the boots/s this reaches is the most any
 * implementation could get from this database for that many commits per boot.
 */
import mysql from 'mysql2/promise';
import { randomUUID } from 'node:crypto';

/** Result of one slice of floor boots. */
export interface FloorSlice {
  boots: number;
  elapsedMs: number;
  latenciesMs: number[];
}

/** Raw-mysql2 boots on a table of their own in the bench's scratch database. */
export class DatabaseFloor {
  private constructor(private readonly pool: mysql.Pool) {}

  /** Opens a pool of `poolSize` connections to `databaseUrl` and creates the floor's table. */
  static async open(databaseUrl: string, poolSize: number): Promise<DatabaseFloor> {
    const pool = mysql.createPool({ uri: databaseUrl.replace(/^mariadb:/, 'mysql:'), connectionLimit: poolSize, timezone: 'Z' });
    await pool.query(
      'CREATE TABLE IF NOT EXISTS floor_boots (id INT AUTO_INCREMENT PRIMARY KEY, uuid CHAR(36) NOT NULL, state VARCHAR(32), updated_at DATETIME, KEY (uuid)) ENGINE=InnoDB',
    );
    return new DatabaseFloor(pool);
  }

  /** Runs `boots` boots of `commitsPerBoot` commits each, `concurrency` at a time. */
  async run(boots: number, concurrency: number, commitsPerBoot: number): Promise<FloorSlice> {
    const latenciesMs: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(concurrency, boots) }, async () => {
        while (next < boots) {
          next++;
          const bootStarted = performance.now();
          await this.boot(commitsPerBoot);
          latenciesMs.push(performance.now() - bootStarted);
        }
      }),
    );
    return { boots, elapsedMs: performance.now() - started, latenciesMs };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async boot(commits: number): Promise<void> {
    const uuid = randomUUID();
    await this.pool.execute('INSERT INTO floor_boots (uuid, state) VALUES (?, ?)', [uuid, 'state-0']);
    for (let index = 1; index < commits; index++) {
      await this.pool.execute('UPDATE floor_boots SET state = ?, updated_at = UTC_TIMESTAMP() WHERE uuid = ?', [`state-${index}`, uuid]);
    }
  }
}

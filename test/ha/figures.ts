/** The instance HA figures table: one row per recovery scenario, printed after each file. */

/** One scenario's outcome. */
export interface HaFigure {
  scenario: string;
  servers: number;
  recovered: number;
  lost: number;
  duplicated: number;
  /** Seconds from the SIGKILL of the compute to the last of its servers ACTIVE elsewhere. */
  killToActiveSeconds?: number;
}

/** Collects rows and prints them as a table. */
export class HaFigures {
  private readonly rows: HaFigure[] = [];

  add(row: HaFigure): void {
    this.rows.push(row);
  }

  print(): void {
    if (this.rows.length === 0) return;
    const header = ['scenario', 'servers', 'recovered', 'lost', 'duplicated', 'kill→ACTIVE s'];
    const cells = this.rows.map((row) => [row.scenario, String(row.servers), String(row.recovered), String(row.lost), String(row.duplicated), row.killToActiveSeconds === undefined ? '' : row.killToActiveSeconds.toFixed(2)]);
    const widths = header.map((_, i) => Math.max(header[i]!.length, ...cells.map((row) => row[i]!.length)));
    const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(['', 'INSTANCE HA FIGURES', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n'));
  }
}

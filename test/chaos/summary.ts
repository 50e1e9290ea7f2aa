/** The chaos suite's summary table: one row per scenario, printed after each file. */

/** One scenario's outcome. */
export interface ScenarioRow {
  scenario: string;
  sent: number;
  /** Sends the broker confirmed (when the scenario counts them). */
  confirmed?: number;
  processed: number;
  lost: number;
  duplicated: number;
  /** Seconds from the fault's end until service resumed, when it applies. */
  recoverySeconds?: number;
  notes?: string;
}

/** Collects rows and prints them as a table. */
export class ChaosSummary {
  private readonly rows: ScenarioRow[] = [];

  add(row: ScenarioRow): void {
    this.rows.push(row);
  }

  print(): void {
    if (this.rows.length === 0) return;
    const header = ['scenario', 'sent', 'confirmed', 'processed', 'lost', 'duplicated', 'recovery s', 'notes'];
    const cells = this.rows.map((row) => [
      row.scenario,
      String(row.sent),
      row.confirmed === undefined ? '' : String(row.confirmed),
      String(row.processed),
      String(row.lost),
      String(row.duplicated),
      row.recoverySeconds === undefined ? '' : row.recoverySeconds.toFixed(2),
      row.notes ?? '',
    ]);
    const widths = header.map((_, i) => Math.max(header[i]!.length, ...cells.map((row) => row[i]!.length)));
    const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(['', 'CHAOS SUMMARY', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n'));
  }
}

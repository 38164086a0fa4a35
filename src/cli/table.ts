/** Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned. */

export interface Column<T> {
  readonly title: string;
  readonly value: (row: T) => string | number;
  readonly align?: 'left' | 'right';
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => String(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        if (columns[i]?.align === 'right') return v.padStart(widths[i] ?? 0);
        return last ? v : v.padEnd(widths[i] ?? 0);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join('\n') + '\n';
}

/** Rows as aligned columns under upper-case headers, the way `kubectl get` prints them. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [
    headers.map((h) => h.toUpperCase()),
    ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell)))),
  ];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ')).join('\n') + '\n';
}

/** `label  value` lines, labels aligned. */
export function fields(pairs: [string, string | number | null | undefined][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value === null || value === undefined ? '-' : value}`).join('\n') + '\n';
}

// CSV of what a page shows (RFC 4180), safe to open in a spreadsheet.

/**
 * cell quotes a value when it holds a comma, quote or line break, and
 * defuses text a spreadsheet would run as a formula (a leading = + - @,
 * tab or carriage return gets a leading apostrophe; plain numbers stay).
 */
export function cell(v: string | number | bigint): string {
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** toCSV joins rows of cells with CRLF line ends, ending with one. */
export function toCSV(rows: (string | number | bigint)[][]): string {
  return rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** download offers text as a file (a same-origin blob: URL, revoked after use). */
export function download(name: string, text: string, type = "text/csv;charset=utf-8"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

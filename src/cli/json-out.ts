// A `--json` result with one long list, written item by item: the same text as
// `JSON.stringify(document, null, 2)`, without ever holding it as one string. A policy plan over
// 50,000 people is a document of several hundred MB; built whole, it was most of the CLI's memory.

/**
 * Writes `{ ...head, [key]: items }` as `JSON.stringify` with two-space indent would, followed by
 * a newline, waiting for the stream to drain between items (a pipe to `jq` reads slower than
 * this writes).
 */
export async function writeJsonWithList(
  out: NodeJS.WritableStream,
  head: Record<string, unknown>,
  key: string,
  items: readonly unknown[],
): Promise<void> {
  const start = JSON.stringify({ ...head, [key]: [] }, null, 2);
  if (items.length === 0) return write(out, `${start}\n`);
  // The head with the empty list last: cut at its `[]` and put the items in between.
  const open = start.slice(0, start.length - '[]\n}'.length);
  await write(out, `${open}[\n`);
  for (let i = 0; i < items.length; i++) {
    const text = JSON.stringify(items[i], null, 2) ?? 'null';
    await write(out, `    ${text.replaceAll('\n', '\n    ')}${i < items.length - 1 ? ',' : ''}\n`);
  }
  await write(out, '  ]\n}\n');
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const more = out.write(text, (err) => (err ? reject(err) : undefined));
    if (more) return resolve();
    // A closed pipe never drains: its error ends the wait instead.
    const drained = () => (out.off('error', failed), resolve());
    const failed = (err: Error) => (out.off('drain', drained), reject(err));
    out.once('drain', drained);
    out.once('error', failed);
  });
}

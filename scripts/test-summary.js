// A node:test reporter that prints nothing while the tests run and, once they are all done, a
// summary of every failure (name, file, the error's first lines) and the counts, so that the
// last lines of `npm test` say what failed instead of leaving it thousands of lines up.
// Used beside the TAP reporter: --test-reporter=tap --test-reporter=./scripts/test-summary.js.
export default async function* summary(source) {
  const failures = [];
  const todos = [];
  let passed = 0;
  let skipped = 0;
  for await (const event of source) {
    const d = event.data ?? {};
    if (event.type === 'test:pass') {
      if (d.skip !== undefined && d.skip !== false) skipped++;
      else if ((d.nesting ?? 0) === 0 || d.details?.type !== 'suite') passed++;
    } else if (event.type === 'test:fail') {
      const err = d.details?.error;
      const cause = err?.cause ?? err;
      // A file's own "test" fails when a test inside it does: report the tests, not the files twice.
      if (err?.failureType === 'subtestsFailed') continue;
      // A `todo` test (a known hole, its reason in d.todo) fails without failing the run: listed apart.
      if (d.todo !== undefined && d.todo !== false) {
        todos.push({ name: d.name, file: d.file ?? '', reason: typeof d.todo === 'string' ? d.todo : 'todo' });
        continue;
      }
      const message = String(cause?.message ?? err?.message ?? err ?? 'failed').split('\n').slice(0, 6).join('\n    ');
      failures.push({ name: d.name, file: d.file ?? '', message });
    }
  }
  const lines = ['', '# ---- summary ----'];
  if (failures.length === 0) lines.push(`# all passed (${passed} passed, ${skipped} skipped)`);
  else {
    lines.push(`# ${failures.length} FAILED (${passed} passed, ${skipped} skipped):`);
    for (const f of failures) lines.push(`#  ✖ ${f.name}${f.file ? `  (${f.file})` : ''}`, `    ${f.message}`);
  }
  if (todos.length > 0) {
    lines.push(`# ${todos.length} todo, failing as expected (not counted):`);
    for (const t of todos) lines.push(`#  - ${t.name}${t.file ? `  (${t.file})` : ''}`, `    ${t.reason}`);
  }
  yield `${lines.join('\n')}\n`;
}

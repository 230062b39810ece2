/**
 * Just enough Markdown for the documentation tests: code removed, links, headings and their
 * GitHub anchors, table rows split into cells, the lines of one section.
 */

/** The text with fenced code blocks blanked (lines kept, so line numbers stay right). */
export function withoutFences(md: string): string {
  let inFence = false;
  return md
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line;
    })
    .join('\n');
}

/** The text with fenced code blocks and inline code spans removed. */
export function prose(md: string): string {
  return withoutFences(md).replace(/`[^`\n]*`/g, '');
}

export interface Link {
  readonly target: string;
  readonly line: number;
}

/** Every inline link `[text](target)` and image outside code, with its line (1-based). */
export function links(md: string): Link[] {
  const out: Link[] = [];
  prose(md)
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], line: i + 1 });
    });
  return out;
}

/** True for a link that leaves the repository (a scheme such as https: or mailto:). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/** GitHub's anchor for a heading's text (github-slugger: lower case, punctuation dropped, spaces to hyphens). */
export function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of every heading outside code, duplicates numbered as GitHub does (`x`, `x-1`, …). */
export function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of withoutFences(md).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The lines under the heading whose text is `title` (any level), up to the next heading of the same or a higher level. */
export function section(md: string, title: string): string {
  const lines = withoutFences(md).split('\n');
  const start = lines.findIndex((l) => {
    const m = /^(#{1,6})\s+(.*?)\s*$/.exec(l);
    return m !== null && m[2] === title;
  });
  if (start < 0) throw new Error(`no heading "${title}"`);
  const level = /^(#+)/.exec(lines[start])![1].length;
  const end = lines.findIndex((l, i) => i > start && /^(#+)\s/.test(l) && /^(#+)/.exec(l)![1].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The cells of every table row (`| a | b |`) in the text, trimmed; separator rows left out. Escaped pipes (`\|`) stay in their cell. */
export function tableRows(md: string): string[][] {
  const rows: string[][] = [];
  for (const line of md.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('|')) continue;
    const cells = t
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    rows.push(cells);
  }
  return rows;
}

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every relative link of the repository's documentation resolves: the root README, the guides
 * in docs/, the benchmark's README and the package READMEs. A link's file must exist, and a
 * `#anchor` must be a heading of the file it points to, by GitHub's rule for heading ids, so a
 * guide that moves or a heading that is renamed cannot leave a reader at a dead link.
 */

const DOCS = [
  'README.md',
  'bench/README.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  ...readdirSync('libs')
    .map((name) => `libs/${name}/README.md`)
    .filter((file) => existsSync(file)),
];

/** The lines of a Markdown text outside fenced code blocks (others are replaced by empty lines). */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const open = /^\s*(```|~~~)/.exec(line);
    if (open) {
      if (fence === undefined) fence = open[1];
      else if (open[1] === fence) fence = undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/** GitHub's id of a heading (github-slugger): its text lowercased, punctuation dropped, spaces as `-`. */
export function headingSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/`/g, '')
    .replace(/\*/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings, repeated ones numbered as GitHub does (`x`, `x-1`, …). */
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of proseLines(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = headingSlug(heading[1]);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The link targets of a Markdown file (inline links, images and reference definitions), outside code. */
function linksOf(file: string): Array<{ line: number; target: string }> {
  const links: Array<{ line: number; target: string }> = [];
  proseLines(readFileSync(file, 'utf8')).forEach((raw, index) => {
    const line = raw.replace(/`[^`]*`/g, '``'); // code spans are not links
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ line: index + 1, target: m[1] });
    const definition = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+.*)?$/.exec(line);
    if (definition) links.push({ line: index + 1, target: definition[1] });
  });
  return links;
}

/** What is wrong with each relative link of `files`: `file:line target: why`. */
export function brokenLinks(files: string[]): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  for (const file of files) {
    for (const { line, target } of linksOf(file)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // https:, mailto:…
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = pathPart === '' ? file : path.normalize(path.join(path.dirname(file), pathPart));
      const where = `${file}:${line} ${target}`;
      if (!existsSync(resolved)) {
        problems.push(`${where}: no file ${resolved}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
        problems.push(`${where}: an anchor into ${resolved}, which is not a Markdown file`);
        continue;
      }
      let anchors = anchorCache.get(resolved);
      if (!anchors) anchorCache.set(resolved, (anchors = anchorsOf(resolved)));
      if (!anchors.has(anchor)) problems.push(`${where}: no heading #${anchor} in ${resolved}`);
    }
  }
  return problems;
}

describe('documentation links', () => {
  it('checks the root README, every guide in docs/, the benchmark README and the package READMEs', () => {
    expect(DOCS).toEqual(
      expect.arrayContaining([
        'README.md',
        'bench/README.md',
        'docs/demo-http-contract.md',
        'libs/sse/README.md',
        'libs/sse-client/README.md',
      ]),
    );
  });

  it('every relative link and #anchor resolves', () => {
    expect(brokenLinks(DOCS)).toEqual([]);
  });

  it('names headings as GitHub does', () => {
    expect(headingSlug('Several instances (Redis)')).toBe('several-instances-redis');
    expect(headingSlug('The browser client and `useSSE`')).toBe('the-browser-client-and-usesse');
    expect(headingSlug('Tickets: keep tokens out of URLs')).toBe('tickets-keep-tokens-out-of-urls');
    expect(headingSlug('`@SseRoute()`')).toBe('sseroute');
    expect(headingSlug('React: useSSE')).toBe('react-usesse');
    expect(headingSlug('SSE_LIMITS and `jwt.service`')).toBe('sse_limits-and-jwtservice');
  });

  describe('reports what does not resolve', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'nest-sse-links-'));
      writeFileSync(path.join(dir, 'guide.md'), '# A guide\n\n## Same\n\n## Same\n');
      writeFileSync(
        path.join(dir, 'index.md'),
        [
          '# Index',
          '[fine](guide.md#a-guide) [second same](guide.md#same-1) [here](#index) [site](https://example.com/x.md#nowhere)',
          '[gone](missing.md) [bad anchor](guide.md#no-such) [bad here](#nope)',
          '```',
          '[in code](missing-too.md)',
          '```',
          '`[in a code span](missing-three.md)`',
        ].join('\n'),
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a missing file and an anchor no heading has, never a link in code', () => {
      const index = path.join(dir, 'index.md');
      expect(brokenLinks([index])).toEqual([
        `${index}:3 missing.md: no file ${path.join(dir, 'missing.md')}`,
        `${index}:3 guide.md#no-such: no heading #no-such in ${path.join(dir, 'guide.md')}`,
        `${index}:3 #nope: no heading #nope in ${index}`,
      ]);
    });
  });
});

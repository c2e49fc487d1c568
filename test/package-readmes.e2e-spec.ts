import { readFileSync } from 'node:fs';

import * as protocol from '@nest-sse/protocol';
import { SSE_AUTH_FAILURE_REASONS, SSE_AUTH_REASON_HEADER, SSE_RESET_REASONS } from '@nest-sse/protocol';
import ts from 'typescript';

import { resolveSseBridgeOptions } from '../libs/sse/src/bridge/sse-bridge-options.resolver.js';
import { DEFAULT_SSE_HEALTH_TIMEOUT_MS } from '../libs/sse/src/health/sse-health.indicator.js';
import { DEFAULT_SSE_METRICS_PREFIX } from '../libs/sse/src/metrics/sse-metrics.constants.js';
import { resolveSseExtras, resolveSseOptions } from '../libs/sse/src/options/sse-options.resolver.js';
import { resolveRedisTransportOptions } from '../libs/sse/src/redis/redis-transport.options.js';
import { resolveBackoff } from '../libs/sse-client/src/backoff.js';
import { DEFAULT_MAX_AUTH_FAILURES } from '../libs/sse-client/src/sse-client.js';

/**
 * Each package's README is its npm user's whole manual (npm shows it; the repository is one
 * link away at best). So it names every import of its `exports` map, has an option table row
 * for every option of the public options interfaces (read from the sources, nested ones as
 * `jwt.secret`) with a default cell that agrees with the code's default, lists the statuses,
 * reasons and answers the code has, and never sends the reader to "the project's README"
 * without a link. A new option, import or reason cannot ship undocumented.
 */

interface Readme {
  file: string;
  text: string;
  /** Markdown sections by heading text (`## Options` → `Options`), each with its body. */
  sections: Array<{ heading: string; body: string }>;
}

function readme(file: string): Readme {
  const text = readFileSync(file, 'utf8');
  const sections: Readme['sections'] = [];
  for (const part of text.split(/^(?=#{1,4} )/m)) {
    const [first, ...rest] = part.split('\n');
    sections.push({ heading: first.replace(/^#+ /, ''), body: rest.join('\n') });
  }
  return { file, text, sections };
}

/** The text of the sections whose heading contains `phrase` (and their sub-sections' own). */
function section(doc: Readme, phrase: string): string {
  const found = doc.sections.filter((s) => s.heading.includes(phrase));
  if (found.length === 0) throw new Error(`${doc.file}: no section whose heading contains "${phrase}"`);
  return found.map((s) => s.body).join('\n');
}

/** The cells of the table row whose first cell is `` `key` `` (or `undefined`). */
function row(text: string, key: string): string[] | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = text.split('\n').find((l) => new RegExp(`^\\|\\s*\`${escaped}\`\\s*\\|`).test(l));
  return line
    ?.split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

/** Every import a package offers: `@nest-sse/server`, `@nest-sse/server/bridge`, … (not `./package.json`). */
function imports(packageJson: string): string[] {
  const { name, exports } = JSON.parse(readFileSync(packageJson, 'utf8')) as {
    name: string;
    exports: Record<string, unknown>;
  };
  return Object.keys(exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`));
}

const sourceFiles = new Map<string, ts.SourceFile>();
function source(file: string): ts.SourceFile {
  let parsed = sourceFiles.get(file);
  if (!parsed) {
    parsed = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    sourceFiles.set(file, parsed);
  }
  return parsed;
}

/**
 * The option keys of interface `name` in `file`, nested ones dotted (`jwt.secret`): a property
 * whose type is an interface of the same file, or an inline object type, is opened; its own
 * key is not listed then (its table rows are its members'). Deprecated keys are listed too.
 */
function optionKeys(file: string, name: string, prefix = ''): string[] {
  const sf = source(file);
  const decl = sf.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!decl) throw new Error(`${file}: no interface ${name}`);
  return membersKeys(sf, decl.members, prefix);
}

function membersKeys(sf: ts.SourceFile, members: ts.NodeArray<ts.TypeElement>, prefix: string): string[] {
  const keys: string[] = [];
  for (const member of members) {
    if (!ts.isPropertySignature(member) || !member.name || !ts.isIdentifier(member.name)) continue;
    const key = prefix + member.name.text;
    const nested = objectType(sf, member.type);
    if (nested) keys.push(...membersKeys(sf, nested, `${key}.`));
    else keys.push(key);
  }
  return keys;
}

function objectType(sf: ts.SourceFile, type: ts.TypeNode | undefined): ts.NodeArray<ts.TypeElement> | undefined {
  if (!type) return undefined;
  if (ts.isTypeLiteralNode(type)) return type.members;
  if (ts.isUnionTypeNode(type)) {
    for (const t of type.types) {
      const found = objectType(sf, t);
      if (found) return found;
    }
    return undefined;
  }
  if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
    const ref = type.typeName.text;
    const decl = sf.statements.find(
      (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === ref,
    );
    return decl?.members;
  }
  return undefined;
}

/** The string literals of a union type alias (`SseStatus`, `SseStatusReason`, …). */
function unionLiterals(file: string, name: string): string[] {
  const sf = source(file);
  const decl = sf.statements.find(
    (s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === name,
  );
  if (!decl || !ts.isUnionTypeNode(decl.type)) throw new Error(`${file}: no union type ${name}`);
  return decl.type.types.flatMap((t) =>
    ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? [t.literal.text] : [],
  );
}

/** Does a default cell state `value`? Numbers with or without separators (`30000`, `30,000`, `30 000`). */
function statesDefault(cell: string, value: unknown): boolean {
  const plain = cell.replace(/`|(?<=\d)[,_\u00a0\u202f ](?=\d{3}\b)/g, '');
  if (typeof value === 'number') {
    if (value === Number.POSITIVE_INFINITY) return /unlimited|Infinity|no limit/i.test(cell);
    if (value === 1024 * 1024 && /1 MiB/.test(cell)) return true;
    return new RegExp(`(^|[^\\d.])${value}([^\\d]|$)`).test(plain);
  }
  if (typeof value === 'boolean' || typeof value === 'string') return plain.includes(String(value));
  if (Array.isArray(value))
    return value.length === 0 ? /\[\]|none/.test(cell) : value.every((v) => plain.includes(String(v)));
  return true;
}

function at(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], object);
}

/** Rows missing, rows with an empty default, and defaults the code does not have. */
function optionProblems(text: string, keys: string[], defaults: (key: string) => unknown): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const cells = row(text, key);
    if (!cells) problems.push(`no row for \`${key}\``);
    else if (!cells[1]) problems.push(`no default for \`${key}\``);
    else if (!statesDefault(cells[1], defaults(key)))
      problems.push(`\`${key}\`: default "${cells[1]}", code ${String(defaults(key))}`);
  }
  return problems;
}

/** "see the project's README" sends an npm reader nowhere unless it links. */
function unlinkedReferences(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => /(project's|repository's|repository) README|the project's documentation/i.test(line))
    .filter((line) => !/\]\(https?:\/\//.test(line));
}

const SERVER = 'libs/sse/src';
const CLIENT = 'libs/sse-client/src';

describe('the @nest-sse/server README (libs/sse/README.md) stands alone', () => {
  const doc = readme('libs/sse/README.md');

  it('names every import of the package', () => {
    const missing = imports('libs/sse/package.json').filter((name) => !doc.text.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('has a row with the code default for every SseModule option', () => {
    const keys = [
      ...optionKeys(`${SERVER}/options/sse-options.interface.ts`, 'SseModuleOptions'),
      ...optionKeys(`${SERVER}/options/sse-options.interface.ts`, 'SseModuleExtras'),
    ];
    expect(keys).toEqual(expect.arrayContaining(['jwt.secret', 'tickets.ttlMs', 'history.store', 'path', 'route']));
    const resolved = { ...resolveSseOptions({ jwt: { secret: 'x' } }), ...resolveSseExtras({}) };
    // The secret is the one given here, not a default.
    const defaults = (key: string) => (key === 'jwt.secret' ? undefined : at(resolved, key));
    expect(optionProblems(section(doc, 'SseModule options'), keys, defaults)).toEqual([]);
  });

  it('has a row with the code default for every RedisSseTransport option', () => {
    const keys = optionKeys(`${SERVER}/redis/redis-transport.options.ts`, 'RedisSseTransportOptions');
    const resolved = resolveRedisTransportOptions({ redis: 'redis://127.0.0.1:6379' });
    const renamed: Record<string, unknown> = {
      keyPrefix: resolved.keys.log.replace(/log$/, ''),
      'log.maxLen': resolved.logMaxLen,
      'history.maxEvents': resolved.maxEvents,
      'history.ttlMs': resolved.ttlMs,
      redis: undefined,
    };
    const defaults = (key: string) => (key in renamed ? renamed[key] : at(resolved, key));
    expect(optionProblems(section(doc, 'RedisSseTransport options'), keys, defaults)).toEqual([]);
  });

  it('has a row with the code default for every option of the bridge, metrics and health', () => {
    const bridge = resolveSseBridgeOptions();
    const problems = [
      ...optionProblems(
        section(doc, 'SseBridgeModule options'),
        optionKeys(`${SERVER}/bridge/sse-bridge-options.interface.ts`, 'SseBridgeOptions'),
        (key) => at(bridge, key),
      ),
      ...optionProblems(
        section(doc, 'SseMetricsModule options'),
        [
          ...optionKeys(`${SERVER}/metrics/sse-metrics-options.interface.ts`, 'SseMetricsOptions'),
          ...optionKeys(`${SERVER}/metrics/sse-metrics-options.interface.ts`, 'SseMetricsModuleExtras'),
        ],
        (key) => ({ prefix: DEFAULT_SSE_METRICS_PREFIX, isGlobal: true })[key],
      ),
      ...optionProblems(
        section(doc, 'SseHealthIndicator options'),
        optionKeys(`${SERVER}/health/sse-health.indicator.ts`, 'SseHealthCheckOptions'),
        (key) => ({ timeoutMs: DEFAULT_SSE_HEALTH_TIMEOUT_MS })[key],
      ),
    ];
    expect(problems).toEqual([]);
  });

  it("states the route's answers, the reset reasons, the refusal and disconnect reasons", () => {
    const answers = section(doc, 'answers');
    const statuses = ['200', '400', '401', '403', '429', '503', 'HEAD', 'POST'].filter((s) => !answers.includes(s));
    const reasons = [
      ...Object.keys(SSE_RESET_REASONS),
      ...unionLiterals(`${SERVER}/observe/sse-stats.collector.ts`, 'SseRefusalReason'),
      ...unionLiterals(`${SERVER}/observe/sse-stats.collector.ts`, 'SseDisconnectReason'),
    ].filter((reason) => !doc.text.includes(`\`${reason}\``));
    expect({ statuses, reasons }).toEqual({ statuses: [], reasons: [] });
  });

  it('states the global prefix rule, and sends the reader to no README without a link', () => {
    expect(doc.text).toContain('setGlobalPrefix');
    expect(unlinkedReferences(doc.text)).toEqual([]);
  });

  it('explains every 401 reason in a row of its own, and the header that carries it', () => {
    const undocumented = Object.keys(SSE_AUTH_FAILURE_REASONS).filter((reason) => !row(doc.text, reason)?.[1]);
    expect(undocumented).toEqual([]);
    expect(section(doc, 'answers')).toContain(SSE_AUTH_REASON_HEADER);
  });

  it('says jwt.algorithms is required with jwt.service, without exception', () => {
    expect(row(section(doc, 'SseModule options'), 'jwt.algorithms')?.[1]).toMatch(/required with `jwt\.service`/);
    expect(doc.text).not.toMatch(/required unless/);
  });
});

describe('the package READMEs carry no marks of sections written ahead of the code', () => {
  it.each(['libs/protocol/README.md', 'libs/sse/README.md', 'libs/sse-client/README.md'])('%s', (file) => {
    expect(readme(file).text).not.toMatch(/<!--\s*reconcile/);
  });
});

describe('the @nest-sse/client README (libs/sse-client/README.md) stands alone', () => {
  const doc = readme('libs/sse-client/README.md');

  it('names every import of the package', () => {
    const missing = imports('libs/sse-client/package.json').filter((name) => !doc.text.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('has a row with the code default for every option of the client, the backoff, the share, the ticket request and useSSE', () => {
    const backoff = resolveBackoff();
    const problems = [
      ...optionProblems(
        section(doc, 'Client options'),
        optionKeys(`${CLIENT}/sse-client.types.ts`, 'SseClientOptions'),
        (key) => ({ maxAuthFailures: DEFAULT_MAX_AUTH_FAILURES, maxRecoveries: Number.POSITIVE_INFINITY })[key],
      ),
      ...optionProblems(
        section(doc, 'Client options'),
        optionKeys(`${CLIENT}/backoff.ts`, 'SseBackoffOptions', 'backoff.'),
        (key) => at({ backoff }, key),
      ),
      ...optionProblems(
        section(doc, 'Client options'),
        optionKeys(`${CLIENT}/sse-client.types.ts`, 'SseShareOptions', 'share.'),
        () => undefined,
      ),
      ...optionProblems(
        section(doc, 'fetchSseTicket'),
        optionKeys(`${CLIENT}/stream-ticket.ts`, 'FetchSseTicketOptions'),
        () => undefined,
      ),
      ...optionProblems(
        section(doc, 'useSSE'),
        optionKeys(`${CLIENT}/react/use-sse.ts`, 'UseSseOptions'),
        () => undefined,
      ),
    ];
    expect(problems).toEqual([]);
  });

  it('lists every status, status reason and error code', () => {
    const missing = [
      ...unionLiterals(`${CLIENT}/sse-client.types.ts`, 'SseStatus'),
      ...unionLiterals(`${CLIENT}/sse-client.types.ts`, 'SseStatusReason'),
      ...unionLiterals(`${CLIENT}/sse-client.errors.ts`, 'SseErrorCode'),
    ].filter((name) => row(doc.text, name) === undefined);
    expect(missing).toEqual([]);
  });

  it('states what the backoff does: full jitter, so a delay may be as short as 100 ms', () => {
    const recovery = section(doc, 'backoff');
    expect(recovery).toContain('100');
    expect(recovery).not.toMatch(/never below `initialMs`/);
  });

  it('names each category of a 401 the client reports as error.reason', () => {
    const missing = Object.keys(SSE_AUTH_FAILURE_REASONS).filter((reason) => !doc.text.includes(`\`${reason}\``));
    expect(missing).toEqual([]);
  });

  it('sends the reader to no README without a link', () => {
    expect(unlinkedReferences(doc.text)).toEqual([]);
  });
});

describe('the @nest-sse/protocol README (libs/protocol/README.md) stands alone', () => {
  const doc = readme('libs/protocol/README.md');

  it('names its import, and says that both packages depend on it', () => {
    expect(imports('libs/protocol/package.json')).toEqual(['@nest-sse/protocol']);
    expect(doc.text).toContain('`@nest-sse/protocol`');
    expect(doc.text).toMatch(/\[`@nest-sse\/server`\]\(https:/);
    expect(doc.text).toMatch(/\[`@nest-sse\/client`\]\(https:/);
    expect(doc.text).toMatch(/both\s+packages depend on/);
  });

  it('names every export of the package', () => {
    const missing = Object.keys(protocol).filter((name) => !doc.text.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('sends the reader to no README without a link', () => {
    expect(unlinkedReferences(doc.text)).toEqual([]);
  });
});

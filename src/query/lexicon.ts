// A small lexicon of software-engineering synonyms and abbreviations, for the lexical side of
// hybrid ranking: "auth" and "authentication", "db" and "database", "deps" and "dependencies"
// are one term to BM25. Written from general knowledge of the trade, not from any eval set.
// Each line is a class; every word of a class is analyzed (lowercased, stemmed) and mapped to the
// class's first word's stem, in documents and queries alike, so a class acts as one term with
// one document frequency. A word written "=word" is mapped only in exactly that form, because its
// stem is another common word's ("settings" → "set", "customer" → "custom", "production" →
// "product"): "settings" joins the configuration class, "set" stays itself. For the same reason a
// class's first word (whose stem names the class) is one whose stem means nothing else. Single words only (the analyzer splits on anything but letters and
// digits, so "e-mail" is "e" + "mail": "mail" is in the email class).
import type { Analyzer } from './lexical-index.js';

export const LEXICON: readonly (readonly string[])[] = [
  ['authentication', 'auth', 'authn', 'authenticate', 'authenticated', 'login', 'logins', 'logon', 'signin', 'sso'],
  ['authz', '=authorization', '=authorize', '=authorized', '=authorizing', 'permission', 'permissions', 'rbac', 'acl', 'acls'],
  ['credential', 'credentials', 'password', 'passwords', 'passwd', 'pwd', 'passphrase'],
  ['database', 'db', 'dbs', 'databases'],
  ['dependency', 'dependencies', 'deps', 'dep'],
  ['configuration', 'config', 'configs', 'conf', 'cfg', '=settings', '=setting'],
  ['test', 'tests', 'testing', 'spec', 'specs', 'unittest'],
  ['documentation', 'docs', 'doc'],
  ['repository', 'repo', 'repos'],
  ['environment', 'env', 'envs'],
  ['kubernetes', 'k8s', 'kube'],
  ['performance', 'perf'],
  ['message', 'msg', 'msgs'],
  ['notification', 'notifications', 'notify', 'alert', 'alerts'],
  ['image', 'img', 'picture', 'photo', 'photos', 'pic', 'pics'],
  ['error', 'err', 'errors', '=exception', '=exceptions'],
  ['crash', 'crashes', 'panic', 'segfault'],
  ['upgrade', 'bump', 'update'],
  ['optimize', 'optimise', 'speed', 'faster', 'accelerate'],
  ['refactor', 'restructure', 'rework', 'reorganize', 'reorganise'],
  ['cache', 'caching', 'cached', 'memoize', 'memoise'],
  ['frontend', 'ui'],
  ['backend', 'server'],
  ['endpoint', 'endpoints', '=route', '=routes'],
  ['user', 'users', '=customer', '=customers'],
  ['email', 'mail', 'emails'],
  ['timeout', 'timeouts', 'deadline'],
  ['retry', 'retries', 'backoff'],
  ['log', 'logs', 'logging', 'logger'],
  ['metric', 'metrics', 'telemetry', 'monitoring', 'observability'],
  ['encrypt', 'encryption', 'encrypted', 'cipher'],
  ['payment', 'payments', 'billing', 'invoice', 'invoices'],
  ['schedule', 'scheduler', 'cron', 'scheduled'],
  ['migration', 'migrate', 'migrations'],
  ['backup', 'backups', 'snapshot', 'snapshots'],
  ['remove', 'delete', 'purge', 'drop'],
  ['throttle', 'throttling', 'ratelimit'],
  ['paginate', 'pagination', '=paging'],
  ['flaky', 'intermittent', 'intermittently', 'nondeterministic', 'sporadic'],
  ['docker', '=container', '=containers', '=containerized'],
  ['deploy', 'deployment', 'deploys', 'release', 'rollout'],
  ['rollback', 'revert'],
  ['i18n', '=internationalization', '=internationalisation', '=localization', '=localisation', 'l10n', 'translation', 'translations'],
  ['a11y', '=accessibility', '=accessible'],
  ['javascript', 'js'],
  ['typescript', 'ts'],
  ['python', 'py'],
  ['asynchronous', 'async'],
  ['synchronize', 'sync', 'synchronization'],
  ['duplicate', 'duplicates', 'dup', 'dupe', 'dedupe', 'deduplicate'],
  ['library', 'lib', 'libs', 'package', 'packages'],
  ['function', 'func', 'fn', 'method'],
  ['variable', 'var', 'vars'],
  ['directory', 'dir', 'folder', 'folders'],
  ['application', 'app', 'apps'],
  ['administrator', 'admin', 'admins'],
  ['statistics', 'stats'],
  ['request', 'req', 'requests'],
  ['response', 'resp', 'responses', 'reply'],
  ['queue', 'queues', 'enqueue'],
  ['memory', 'mem', 'ram', 'oom'],
  ['certificate', 'cert', 'certs', 'tls', 'ssl'],
  ['vulnerability', 'vuln', 'cve'],
  ['ci', '=continuous'],
  ['infrastructure', 'infra'],
  ['prod', '=production'],
  ['dev', '=development'],
  ['identifier', 'id', 'ids', 'uuid'],
  ['parameter', 'param', 'params', 'argument', 'arg', 'args'],
  ['attribute', 'attr', 'attrs'],
  ['search', 'lookup'],
  ['slow', 'sluggish', 'latency', 'laggy'],
  ['broken', 'failing', 'fails', 'fail', 'failure', 'failures'],
];

/**
 * The analyzer with each lexicon word's stem replaced by its class's first word's stem. Throws
 * if a word is a stopword (it would never reach the lexicon) or two classes share a stem.
 */
export function withLexicon(base: Analyzer, lexicon: readonly (readonly string[])[]): Analyzer {
  const classOf = new Map<string, string>();
  const exact = new Map<string, string>();
  const put = (map: Map<string, string>, key: string, word: string, head: string) => {
    const other = map.get(key);
    if (other !== undefined && other !== head) throw new Error(`lexicon: "${word}" (${key}) is in two classes, ${other} and ${head}`);
    map.set(key, head);
  };
  for (const cls of lexicon) {
    const head = base.stem(cls[0]!.replace(/^=/, ''));
    for (const entry of cls) {
      const word = entry.replace(/^=/, '');
      if (base.stopwords.has(word)) throw new Error(`lexicon: "${word}" is a stopword`);
      if (entry.startsWith('=')) put(exact, word, word, head);
      else put(classOf, base.stem(word), word, head);
    }
  }
  return {
    stopwords: base.stopwords,
    stem: (word) => {
      const e = exact.get(word);
      if (e !== undefined) return e;
      const s = base.stem(word);
      return classOf.get(s) ?? s;
    },
  };
}

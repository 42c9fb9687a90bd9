// orb-learn as a real child process (`orb-learn serve`), for signals and kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  grpcAddress: string;
  httpUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Folders this process opened to others so that another user can reach the CLI, and their modes before. */
const opened = new Map<string, number>();

/**
 * Another user must traverse every folder down to the CLI. A checkout in a private folder (`mktemp -d`
 * makes one 0700) bars it: such folders get o+x until this process exits, and then their mode back.
 */
function reachableByOthers(file: string): void {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if (!(mode & 0o001) && !opened.has(dir)) {
      if (opened.size === 0) process.once('exit', () => opened.forEach((was, d) => chmodSync(d, was)));
      opened.set(dir, mode);
      chmodSync(dir, mode | 0o001);
    }
    if (dirname(dir) === dir) return;
  }
}

/** `user` runs the server as another user (root ignores permission bits, so a read-only folder needs one). */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}, user: { uid: number; gid: number } | null = null): Promise<ServeProcess> {
  if (user) reachableByOthers(CLI);
  // ORB_SERVE_NODE_ARGS: node flags for the server only (e.g. --cpu-prof when profiling a benchmark).
  const nodeArgs = process.env.ORB_SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', '--grpc', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args], {
    // Embedding is off unless a test asks for it: it needs a model.
    env: { ...process.env, ORB_EMBED: 'false', ORB_ARCHIVE_OLDER_THAN: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not become ready:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('"orb-learn ready"')) continue;
        const ready = JSON.parse(line) as { grpc: string; http: string };
        clearTimeout(timer);
        resolve({ child, grpcAddress: ready.grpc, httpUrl: `http://${ready.http}`, exited, output: () => out });
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (x: Buffer) => (out += x.toString()));
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before ready:\n${out}`));
    });
  });
}

/** Runs the CLI to completion; a command still running after `limitMs` is killed and reported in stderr. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `\n[test] orb-learn ${args.join(' ')} did not finish within ${limitMs} ms; killed`;
      child.kill('SIGKILL');
    }, limitMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

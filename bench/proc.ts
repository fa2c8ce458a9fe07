import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WORKER_NODE_FLAGS, WORKER_PROCESS_ENV } from '../src/worker-memory';

// What the benches read from /proc about the processes they measure (Linux only, as the benches
// are), and the worker process they measure, started as the Dockerfile starts it.

/** `node WORKER_NODE_FLAGS --import tsx src/worker.ts` with WORKER_PROCESS_ENV; `env` wins over it. */
export function spawnWorker(env: NodeJS.ProcessEnv, stdio: StdioOptions): ChildProcess {
  const repoRoot = path.resolve(__dirname, '..');
  const args = [...WORKER_NODE_FLAGS, '--import', 'tsx', path.join(repoRoot, 'src', 'worker.ts')];
  return spawn(process.execPath, args, { cwd: repoRoot, env: { ...WORKER_PROCESS_ENV, ...env }, stdio });
}

/** VmRSS or VmHWM of a process in bytes; undefined when it is gone. */
export function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const CLK_TCK = 100;
/** CPU seconds (user + system) the process has used so far; 0 when unknown or gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** The pid in a pid file, or undefined. */
export function readPid(file: string): number | undefined {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The pid and every descendant (samba forks its servers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU seconds used so far by a process and its descendants (0 when unknown). */
export function treeCpuSeconds(root: number | undefined): number {
  return root === undefined ? 0 : processTree(root).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

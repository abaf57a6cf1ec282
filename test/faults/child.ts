/** Runs test/faults/trainChild.ts in a process of its own, for the fault-injection tests. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the training child with `args` and resolves when it exits. `onLine` sees each stdout line (`ready`,
 * `step N`) with the child, e.g. to kill it.
 */
export function runTrainChild(
  args: string[],
  onLine: (line: string, child: ChildProcess) => void = () => {},
): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/faults/trainChild.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line, child);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

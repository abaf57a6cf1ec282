/**
 * The project's own training kernels, registered per backend by `setupBackend`.
 *
 * Registration is idempotent: calling it again for the same backend registers nothing twice. On
 * `tensorflow` (tfjs-node) nothing is registered, so results there are never changed.
 *
 * @returns the names of the kernels registered (or already registered) for `backendName`.
 */
export function registerTrainingKernels(backendName: string): string[] {
  switch (backendName) {
    default:
      return [];
  }
}

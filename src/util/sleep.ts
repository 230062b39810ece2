/** Resolves after `ms` milliseconds (negative waits count as 0). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

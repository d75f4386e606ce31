/** The error a promise rejects with; fails the test when it resolves instead. */
export async function refusal(p: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(p).then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
}

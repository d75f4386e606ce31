// One server for the whole run (DATABASE_URL's, else an embedded PostgreSQL) and one migrated
// template on it; every test file clones the template (startTestDatabase), so files run in parallel.
import { createTestTemplate, startTestServer } from '../src/testing/index.js';

export default async function setup(): Promise<() => Promise<void>> {
  const server = await startTestServer();
  const template = await createTestTemplate(server.adminUrl);
  Object.assign(process.env, template.env);
  return async () => {
    await template.drop();
    await server.stop();
  };
}

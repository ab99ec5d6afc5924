// Runs graphql-http's GraphQL over HTTP server audits against the URL given as the only
// argument and prints every result as JSON: [{id, name, status, reason?, response?}].
// `status` is "ok", or "error" (a MUST failed), "warn" (a SHOULD) or "notice" (a MAY).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: node audit.mjs http://host:port/graphql\n');
  process.exit(2);
}

async function describe(response) {
  let body = '';
  try {
    body = (await response.clone().text()).slice(0, 500);
  } catch {
    body = '(body already read by the audit)';
  }
  return { status: response.status, contentType: response.headers.get('content-type'), body };
}

const results = [];
// One at a time: the answers do not depend on order, and the server is shared with other tests.
for (const { fn } of serverAudits({ url, fetchFn: fetch })) {
  const result = await fn();
  if (result.status === 'ok') {
    results.push({ id: result.id, name: result.name, status: result.status });
  } else {
    const response = await describe(result.response);
    results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason, response });
  }
}
process.stdout.write(JSON.stringify(results));

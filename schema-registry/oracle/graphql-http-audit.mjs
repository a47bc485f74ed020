// Runs graphql-http's GraphQL-over-HTTP server audit (the suite the spec's
// reference implementation publishes) against each URL given on the command
// line and prints one JSON object per URL: its counts by status and the
// audits that did not pass, with the reason graphql-http gives.
//
//   node graphql-http-audit.mjs http://127.0.0.1:4001/graphql [...]
import { auditServer } from 'graphql-http';

const reports = [];
for (const url of process.argv.slice(2)) {
  const results = await auditServer({ url });
  const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
  const failures = [];
  for (const result of results) {
    counts[result.status] = (counts[result.status] ?? 0) + 1;
    if (result.status !== 'ok') {
      failures.push({ id: result.id, name: result.name, status: result.status, reason: result.reason });
    }
  }
  reports.push({ url, total: results.length, counts, failures });
}
process.stdout.write(JSON.stringify(reports) + '\n');

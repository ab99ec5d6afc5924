// Reads [{name, query, params: [...]}] as JSON on stdin and prints the diagnostics of each
// statement from Neo4j's Cypher front-end as JSON: [{name, diagnostics: [{severity, message}]}].
const { lintCypherQuery } = require('@neo4j-cypher/language-support');

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const results = JSON.parse(input).map(({ name, query, params }) => {
    const parameters = Object.fromEntries(params.map((p) => [p, null]));
    const { diagnostics } = lintCypherQuery(query, { parameters });
    return {
      name,
      diagnostics: diagnostics.map((d) => ({ severity: d.severity, message: d.message })),
    };
  });
  process.stdout.write(JSON.stringify(results));
});

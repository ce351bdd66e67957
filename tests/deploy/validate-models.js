#!/usr/bin/env node
// Validates rendered Kubernetes objects against the OpenAPI schemas of the npm packages
// kubernetes-models (core groups), @kubernetes-models/argo-rollouts (Rollout,
// AnalysisTemplate), @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule) and
// @kubernetes-models/gateway-api (HTTPRoute).
//
//   node validate-models.js OBJECTS.json
//
// OBJECTS.json holds a JSON array of objects (tests/deploy/test_chart_models.py writes it from
// the rendered chart). Prints one line per object and exits 1 if any object is invalid or of a
// kind no package knows (every object must be checked).
"use strict";

const fs = require("fs");

const PACKAGES = {
  "argoproj.io": "@kubernetes-models/argo-rollouts/argoproj.io",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator/monitoring.coreos.com",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api/gateway.networking.k8s.io",
};

function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const base = PACKAGES[group] || (group ? `kubernetes-models/${group}` : "kubernetes-models");
  const mod = require(`${base}/${version}/${kind}`);
  if (typeof mod[kind] !== "function") throw new Error(`${base}/${version}/${kind} exports no ${kind}`);
  return mod[kind];
}

function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: validate-models.js OBJECTS.json");
    process.exit(2);
  }
  const objects = JSON.parse(fs.readFileSync(file, "utf8"));
  let failed = 0;
  for (const obj of objects) {
    const id = `${obj.apiVersion} ${obj.kind} ${obj.metadata && obj.metadata.name}`;
    let Model;
    try {
      Model = modelFor(obj.apiVersion, obj.kind);
    } catch (e) {
      console.log(`UNKNOWN ${id}: no model (${e.message.split("\n")[0]})`);
      failed++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`ok      ${id}`);
    } catch (e) {
      console.log(`INVALID ${id}: ${e.message}`);
      failed++;
    }
  }
  console.log(`${objects.length - failed} valid, ${failed} invalid`);
  process.exit(failed ? 1 : 0);
}

main();

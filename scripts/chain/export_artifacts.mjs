// Export the MetaMask Delegation Framework artifacts Cyphera needs into one JSON file.
//
//   node scripts/chain/export_artifacts.mjs build/framework-artifacts.json
//
// Reads the pinned npm packages (@metamask/delegation-abis for ABIs and creation code,
// @metamask/delegation-deployments for the published addresses) and writes
//   {format, packages, abis: {name: abi}, bytecode: {name: hex},
//    deployments: {"1.3.0": {"<chainId>": {name: address}}}}
// Python reads this file; it never runs JavaScript at run time. Dev/build tooling only.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";

import * as abis from "@metamask/delegation-abis";
import * as creationCode from "@metamask/delegation-abis/bytecode";
import { DELEGATOR_CONTRACTS } from "@metamask/delegation-deployments";

const FRAMEWORK_VERSION = "1.3.0";

// Chains Cyphera supports (cyphera.chain.networks). Keep in step with the Python registry;
// tests/chain/test_networks.py checks that every public network's chain id is exported.
const CHAIN_IDS = [
  1, // Ethereum
  10, // Optimism
  137, // Polygon PoS
  8453, // Base
  42161, // Arbitrum One
  11155111, // Sepolia
  84532, // Base Sepolia
  421614, // Arbitrum Sepolia
  80002, // Polygon Amoy
];

// Contracts deployed or called besides the caveat enforcers (all of which are exported).
const CORE_CONTRACTS = [
  "DelegationManager",
  "EntryPoint",
  "SimpleFactory",
  "ERC1967Proxy",
  "HybridDeleGator",
  "EIP7702StatelessDeleGator",
  "SCL_RIP7212",
];

function fail(message) {
  console.error(`export_artifacts: ${message}`);
  process.exit(1);
}

function packageVersion(name) {
  const require = createRequire(import.meta.url);
  const manifest = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8"));
  return manifest.version;
}

const outPath = process.argv[2];
if (!outPath) {
  fail("usage: node scripts/chain/export_artifacts.mjs <out.json>");
}

const published = DELEGATOR_CONTRACTS[FRAMEWORK_VERSION];
if (!published) {
  fail(`@metamask/delegation-deployments has no ${FRAMEWORK_VERSION} deployment; run \`npm ci\``);
}

// "All caveat enforcers" means every enforcer MetaMask deployed in this version: the same set on
// every chain, so the local chain mirrors production one for one.
const reference = published[1];
if (!reference) {
  fail(`no ${FRAMEWORK_VERSION} deployment on chain 1`);
}
const enforcers = Object.keys(reference)
  .filter((name) => name.endsWith("Enforcer"))
  .sort();
const names = [...CORE_CONTRACTS, ...enforcers];

const out = {
  format: 1,
  frameworkVersion: FRAMEWORK_VERSION,
  packages: {
    "@metamask/delegation-abis": packageVersion("@metamask/delegation-abis"),
    "@metamask/delegation-deployments": packageVersion("@metamask/delegation-deployments"),
  },
  enforcers,
  abis: {},
  bytecode: {},
  deployments: { [FRAMEWORK_VERSION]: {} },
};

for (const name of names) {
  const abi = abis[name];
  const code = creationCode[name];
  if (!Array.isArray(abi)) {
    fail(`@metamask/delegation-abis has no ABI for ${name}`);
  }
  if (typeof code !== "string" || !code.startsWith("0x") || code.length <= 2) {
    fail(`@metamask/delegation-abis/bytecode has no creation code for ${name}`);
  }
  out.abis[name] = abi;
  out.bytecode[name] = code;
}

for (const chainId of CHAIN_IDS) {
  const addresses = published[chainId];
  if (!addresses) {
    fail(`no ${FRAMEWORK_VERSION} deployment for chain ${chainId}`);
  }
  out.deployments[FRAMEWORK_VERSION][String(chainId)] = { ...addresses };
}

// Write beside the target and rename, so a concurrent reader never sees half a file.
const target = resolve(outPath);
mkdirSync(dirname(target), { recursive: true });
const temporary = `${target}.${process.pid}.tmp`;
writeFileSync(temporary, `${JSON.stringify(out)}\n`);
renameSync(temporary, target);
console.log(
  `export_artifacts: ${names.length} contracts, ${CHAIN_IDS.length} chains -> ${outPath}`,
);

// Folds an NDJSON delta stream with the protocol's own JavaScript tree (clientjs/tree.js of
// adama-lang, which this repository does not carry: pass its path), as RxHTML's binding does it:
// JSON.parse of each delta, then AdamaTree.update(). The first line of the stream is its start, a
// snapshot, folded untimed before each pass.
//
// Usage: node treejs_fold.js TREE_JS STREAM.ndjson [PASSES]
// Prints: treejs.<stream>.rate: N deltas/s (best of 5 batches of PASSES passes, after 2 warm-up batches)
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
    process.stderr.write(`treejs_fold: ${message}\n`);
    process.exit(2);
}

const [treePath, streamPath, passesText] = process.argv.slice(2);
if (!treePath || !streamPath)
    fail('usage: node treejs_fold.js TREE_JS STREAM.ndjson [PASSES]');
const passes = passesText === undefined ? 20 : Number(passesText);
if (!Number.isInteger(passes) || passes < 1)
    fail(`PASSES must be a positive integer, not "${passesText}"`);

let AdamaTree;
try {
    // tree.js is a browser script declaring a global function: evaluated in a function scope, sloppy
    // mode as in a page, and its constructor handed back.
    AdamaTree = new Function(fs.readFileSync(treePath, 'utf8') + '\n;return AdamaTree;')();
} catch (error) {
    fail(`${treePath}: not a usable tree.js (${error.message})`);
}
if (typeof AdamaTree !== 'function')
    fail(`${treePath}: defines no AdamaTree constructor`);

let lines;
try {
    lines = fs.readFileSync(streamPath, 'utf8').split('\n').filter((line) => line.length > 0);
} catch (error) {
    fail(`${streamPath}: ${error.message}`);
}
if (lines.length < 2)
    fail(`${streamPath}: needs a snapshot line and at least one delta`);
const deltas = [];
for (let i = 0; i < lines.length; ++i) {
    try {
        deltas.push(JSON.parse(lines[i])); // checked once here; each pass parses the text again
    } catch (error) {
        fail(`${streamPath}:${i + 1}: ${error.message}`);
    }
}

let best = 0;
for (let batch = 0; batch < 7; ++batch) {
    let folded = 0;
    let nanoseconds = 0n;
    for (let pass = 0; pass < passes; ++pass) {
        const tree = new AdamaTree();
        tree.update(JSON.parse(lines[0]));
        const start = process.hrtime.bigint();
        for (let i = 1; i < lines.length; ++i)
            tree.update(JSON.parse(lines[i]));
        nanoseconds += process.hrtime.bigint() - start;
        folded += lines.length - 1;
    }
    if (batch >= 2) // the first two warm the JIT
        best = Math.max(best, folded / (Number(nanoseconds) / 1e9));
}
const name = path.basename(streamPath).replace(/\.ndjson$/, '');
console.log(`treejs.${name}.rate: ${Math.round(best)} deltas/s (JSON.parse + AdamaTree.update, best of 5 batches of ${passes} passes)`);

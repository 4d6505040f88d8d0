#!/usr/bin/env node
// Sign and verify with the npm package mailauth for tests/sh/interop_mailauth.sh.
// MAILAUTH_DIR names the installed package (node_modules/mailauth).
//
//   mailauth_tool.js sign -d DOMAIN -s SELECTOR -k KEYFILE -a rsa|ed25519
//                         -c HEADER/BODY -o OUTDIR FILE...
//       OUTDIR/<basename>: mailauth's DKIM-Signature field, then FILE
//       unchanged; every header field present is signed (headerList).
//   mailauth_tool.js verify -q FLATFILE FILE...
//       FLATFILE: "owner<TAB>txt" lines (tests/interop/zonefile.py flat).
//       Prints "pass FILE" when every DKIM signature (at least one) has
//       status pass, else "fail FILE REASON". Exit 0 when all passed.
'use strict';
const fs = require('fs');
const path = require('path');
const dir = process.env.MAILAUTH_DIR;
const { dkimSign } = require(path.join(dir, 'lib/dkim/sign'));
const { dkimVerify } = require(path.join(dir, 'lib/dkim/verify'));

function opts(argv, spec) {
    const o = {}, files = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i][0] === '-' && spec.includes(argv[i][1])) o[argv[i][1]] = argv[++i];
        else files.push(argv[i]);
    }
    return [o, files];
}

function headerNames(msg) {
    const head = msg.toString('latin1').split(/\r?\n\r?\n/)[0];
    const names = [];
    for (const l of head.split(/\r?\n/)) {
        const m = /^([^ \t:]+):/.exec(l);
        if (m) names.push(m[1]);
    }
    return names.join(':');
}

async function sign(argv) {
    const [o, files] = opts(argv, 'dskaco');
    const key = fs.readFileSync(o.k, 'utf8');
    const algorithm = o.a === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    let rc = 0;
    for (const f of files) {
        const msg = fs.readFileSync(f);
        try {
            // One fixed signTime: without it mailauth 4.x reads the clock
            // once for the hashed header and again for the written one, and
            // a second boundary between the two yields a broken signature
            // (seen under load; dkimpy rejects those too).
            const r = await dkimSign(msg, {
                signTime: new Date(),
                canonicalization: o.c,
                algorithm,
                headerList: headerNames(msg),
                signatureData: [{ signingDomain: o.d, selector: o.s, privateKey: key,
                                  algorithm, canonicalization: o.c }]
            });
            if (r.errors && r.errors.length) throw new Error(JSON.stringify(r.errors));
            let sig = r.signatures;
            if (!msg.includes('\r\n')) sig = sig.replace(/\r\n/g, '\n');
            fs.writeFileSync(path.join(o.o, path.basename(f)),
                             Buffer.concat([Buffer.from(sig, 'latin1'), msg]));
        } catch (e) {
            process.stderr.write(`${f}: mailauth sign failed: ${e.message}\n`);
            rc = 1;
        }
    }
    return rc;
}

async function verify(argv) {
    const [o, files] = opts(argv, 'q');
    const zone = new Map();
    for (const l of fs.readFileSync(o.q, 'utf8').split('\n')) {
        const t = l.indexOf('\t');
        if (t > 0) {
            const k = l.slice(0, t).toLowerCase();
            if (!zone.has(k)) zone.set(k, []);
            zone.get(k).push([l.slice(t + 1)]);
        }
    }
    const resolver = async (name, type) => {
        const r = type === 'TXT' && zone.get(name.replace(/\.$/, '').toLowerCase());
        if (!r) { const e = new Error('not found'); e.code = 'ENOTFOUND'; throw e; }
        return r;
    };
    let rc = 0;
    for (const f of files) {
        let reason = '';
        try {
            const r = await dkimVerify(fs.readFileSync(f), { resolver });
            const res = r.results || [];
            if (!res.length || res[0].status.result === 'none') reason = 'no DKIM-Signature';
            res.forEach((x, i) => {
                if (!reason && x.status.result !== 'pass')
                    reason = `signature ${i}: ${x.status.result} (${x.status.comment || ''})`;
            });
        } catch (e) {
            reason = `exception ${e.message}`;
        }
        if (reason) { rc = 1; console.log(`fail ${f} ${reason}`); }
        else console.log(`pass ${f}`);
    }
    return rc;
}

const [cmd, ...rest] = process.argv.slice(2);
(cmd === 'sign' ? sign(rest) : cmd === 'verify' ? verify(rest)
    : Promise.resolve((console.error('usage: mailauth_tool.js sign|verify ...'), 2)))
    .then(rc => process.exit(rc));

// tests/hdr_interop.js — the hdr-histogram-js (npm, v3) side of tests/test_hdr_interop.c.
// It decodes what decodebench writes and encodes histograms for decodebench to decode, printing plain
// whitespace-separated numbers (one line per histogram) that the C test compares with its own.
//
//   node hdr_interop.js decode FILE          one base64 blob per line -> one stats line per blob
//   node hdr_interop.js hlog FILE            read an .hlog -> "tag start_ms end_ms <stats>" per interval
//   node hdr_interop.js encode SEED N        N random histograms -> "blob <stats>" per histogram
//   node hdr_interop.js write-hlog SEED FILE write an .hlog with hdr-histogram-js's writer, print
//                                            "tag start_s length_s <stats>" per interval written
//   node hdr_interop.js hgrm FILE SCALE      blob in FILE -> outputPercentileDistribution(5, SCALE)
//
// <stats> = total p0 p50 p90 p99 p99.9 p100 mean stddev (values from getValueAtPercentile).
// The module is found at $DB_NODE_MODULES/hdr-histogram-js.
"use strict";
const fs = require("fs");
const path = require("path");

const modules = process.env.DB_NODE_MODULES || "";
const hdr = require(path.join(modules, "hdr-histogram-js"));

const PERCENTILES = [0, 50, 90, 99, 99.9, 100];

function stats(h) {
  const ps = PERCENTILES.map((p) => h.getValueAtPercentile(p));
  return [h.totalCount, ...ps, h.mean, h.stdDeviation].join(" ");
}

function decodeBlob(b64) {
  return hdr.decodeFromCompressedBase64(b64, 64, false);
}

// mulberry32: a small seeded generator, so a failing seed can be replayed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHistogram(next) {
  const lowest = 1 + Math.floor(next() * 1000);
  const digits = 1 + Math.floor(next() * 5);
  // every statistic walks all counts: keep 4- and 5-digit layouts to a few buckets
  const highest = lowest * 2 + Math.floor(Math.pow(2, 10 + next() * (digits >= 4 ? 8 : 24)));
  const h = hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: lowest,
    highestTrackableValue: highest,
    numberOfSignificantValueDigits: digits,
    autoResize: false,
    useWebAssembly: false,
  });
  const n = Math.floor(next() * 500);
  for (let i = 0; i < n; i++) {
    const v = Math.floor(Math.pow(2, next() * Math.log2(highest)));
    const count = next() < 0.1 ? 1 + Math.floor(next() * 100000) : 1;
    h.recordValueWithCount(Math.min(v, highest), count);
  }
  return h;
}

function main(argv) {
  const [cmd, a, b] = argv;
  if (cmd === "decode") {
    const lines = fs.readFileSync(a, "utf8").split("\n").filter((l) => l.length > 0);
    for (const line of lines) console.log(stats(decodeBlob(line)));
  } else if (cmd === "hlog") {
    const reader = new hdr.HistogramLogReader(fs.readFileSync(a, "utf8"), 64, false);
    for (let h; (h = reader.nextIntervalHistogram()) !== null; ) {
      const tag = h.tag && h.tag !== "NO TAG" ? h.tag : "-";
      console.log([tag, h.startTimeStampMsec, h.endTimeStampMsec, stats(h)].join(" "));
    }
  } else if (cmd === "encode") {
    const next = rng(Number(a));
    for (let i = 0; i < Number(b); i++) {
      const h = randomHistogram(next);
      console.log(hdr.encodeIntoCompressedBase64(h) + " " + stats(h));
    }
  } else if (cmd === "write-hlog") {
    const next = rng(Number(a));
    let text = "";
    const writer = new hdr.HistogramLogWriter((s) => (text += s));
    writer.outputLogFormatVersion();
    writer.outputStartTime(1700000000000);
    writer.outputLegend();
    const tags = ["TTFT", "", "E2E"];
    for (let i = 0; i < 6; i++) {
      const h = randomHistogram(next);
      h.tag = tags[i % 3];
      const start = 2.5 * i;
      writer.outputIntervalHistogram(h, start, start + 2.5, 1e6);
      console.log([tags[i % 3] || "-", start, 2.5, stats(h)].join(" "));
    }
    fs.writeFileSync(b, text);
  } else if (cmd === "hgrm") {
    const h = decodeBlob(fs.readFileSync(a, "utf8").trim());
    process.stdout.write(h.outputPercentileDistribution(5, Number(b)));
  } else {
    console.error("usage: node hdr_interop.js decode|hlog|encode|write-hlog|hgrm ...");
    process.exit(2);
  }
}

main(process.argv.slice(2));

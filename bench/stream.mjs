// Streaming probe: time to first content chunk and the gaps between chunks, one connection, sequential requests;
// then N concurrent streams, checking every chunk arrived. Prints one JSON line. Bounded in count and time.
import http from 'node:http';

const [url, headersJson, body, sequential, concurrent] = process.argv.slice(2);
const target = new URL(url);
const headers = { 'content-type': 'application/json', ...JSON.parse(headersJson) };
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

function stream() {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent }, res => {
      let first = null, last = null, chunks = 0, buffered = '';
      const gaps = [];
      res.setEncoding('utf8');
      res.on('data', data => {
        buffered += data;
        let index;
        while ((index = buffered.indexOf('\n\n')) >= 0) {
          const frame = buffered.slice(0, index);
          buffered = buffered.slice(index + 2);
          if (!frame.includes('"content":"') || frame.includes('"content":""')) continue;
          const now = process.hrtime.bigint();
          if (first === null) first = now; else gaps.push(Number(now - last) / 1e6);
          last = now;
          chunks++;
        }
      });
      res.on('end', () => resolve({ ttft: first === null ? NaN : Number(first - start) / 1e6, gaps, chunks, status: res.statusCode }));
      res.on('error', reject);
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (values, p) => { const s = [...values].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] : NaN; };

const ttfts = [], gaps = [];
for (let i = 0; i < 20; i++) await stream(); // warm-up
for (let i = 0; i < Number(sequential); i++) { const r = await stream(); ttfts.push(r.ttft); gaps.push(...r.gaps); }
const held = await Promise.allSettled(Array.from({ length: Number(concurrent) }, stream));
const complete = held.filter(r => r.status === 'fulfilled' && r.value.status === 200 && r.value.chunks === 64).length;
console.log(JSON.stringify({ ttft_p50: pct(ttfts, 50), ttft_p99: pct(ttfts, 99), gap_p99: pct(gaps, 99), concurrent: Number(concurrent), complete }));
agent.destroy();

// Sparklines and bar charts on <canvas>: our own few lines instead of a chart library.

// The size is read once per canvas: reading clientWidth after DOM writes would force a
// synchronous layout of the whole page on every draw.
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  if (!canvas.__size) canvas.__size = [canvas.clientWidth || 160, canvas.clientHeight || 28];
  const [w, h] = canvas.__size;
  if (canvas.width !== Math.round(w * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// points: [[t, value|null], ...] oldest first; limits: {H: n, HH: n, ...}; span in ms.
export function drawSpark(canvas, points, limits = {}, spanMs = 600000) {
  const { ctx, w, h } = prepare(canvas);
  const values = points.map((p) => p[1]).filter((v) => v !== null);
  if (!values.length) return;
  const marks = Object.values(limits).filter((v) => typeof v === "number");
  let lo = Math.min(...values), hi = Math.max(...values);
  for (const m of marks) if (m <= hi * 1.5 + 1) { lo = Math.min(lo, m); hi = Math.max(hi, m); }
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const end = points[points.length - 1][0];
  const x = (tms) => w - ((end - tms) / spanMs) * w;
  const y = (v) => h - 2 - ((v - lo) / (hi - lo)) * (h - 4);
  ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(247,107,21,.6)";
  for (const m of marks) {
    if (m < lo || m > hi) continue;
    ctx.beginPath(); ctx.moveTo(0, y(m)); ctx.lineTo(w, y(m)); ctx.stroke();
  }
  ctx.strokeStyle = "#7ab8ff";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  for (const [tms, v] of points) {
    if (v === null) { pen = false; continue; }
    if (pen) ctx.lineTo(x(tms), y(v)); else ctx.moveTo(x(tms), y(v));
    pen = true;
  }
  ctx.stroke();
}

// values: numbers; labels: same length (every n-th drawn); colour: bar fill.
export function drawBars(canvas, values, labels, colour = "#3e63dd") {
  const { ctx, w, h } = prepare(canvas);
  const top = Math.max(1, ...values);
  const bw = w / Math.max(1, values.length);
  ctx.fillStyle = colour;
  values.forEach((v, i) => {
    const bh = (v / top) * (h - 18);
    ctx.fillRect(i * bw + 1, h - 14 - bh, Math.max(1, bw - 2), bh);
  });
  ctx.fillStyle = "#8b9aa8";
  ctx.font = "10px system-ui";
  const every = Math.ceil(values.length / 16);
  labels.forEach((label, i) => { if (i % every === 0) ctx.fillText(label, i * bw + 1, h - 2); });
  ctx.fillText(String(top), 2, 10);
}

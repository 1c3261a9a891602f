// Chart.js, registered piece by piece so the bundle carries only bar charts.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// One colour per tier, the same in every chart (and in the tables' tier badges).
const TIER_COLOURS = { fast: "#f97316", deep: "#6366f1", review: "#14b8a6" };
const OTHER = ["#64748b", "#e11d48", "#0ea5e9", "#84cc16"];
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const full = new Intl.NumberFormat();

function colour(tier, i) {
  return TIER_COLOURS[tier] || OTHER[i % OTHER.length];
}

function datasets(tiers, values) {
  return tiers.map((tier, i) => ({
    label: tier,
    data: values[i],
    backgroundColor: colour(tier, i),
    borderRadius: 3,
    borderSkipped: "start",
    maxBarThickness: 42,
  }));
}

function barChart(canvas, { labels, tiers, values, stacked, unit }) {
  if (!canvas) return null;
  return new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: datasets(tiers, values) },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "top", align: "end", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: {
          callbacks: { label: (item) => `${item.dataset.label}: ${full.format(item.parsed.y)} ${unit}` },
        },
      },
      scales: {
        x: { stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: {
          stacked,
          beginAtZero: true,
          grid: { color: "#eef0f3" },
          ticks: { callback: (value) => compact.format(value) },
        },
      },
    },
  });
}

// The cache-hit share per tier and model: one bar each, coloured by its tier.
function shareChart(canvas, { labels, tiers, share, reasoning }) {
  if (!canvas || !labels.length) return null;
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: [{
        label: "prompt cache hits",
        data: share,
        backgroundColor: tiers.map((tier, i) => colour(tier, i)),
        borderRadius: 3,
        maxBarThickness: 42,
      }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => `${item.parsed.y ?? 0}% of prompt tokens cached`,
            afterLabel: (item) => `${full.format(reasoning[item.dataIndex])} reasoning tokens`,
          },
        },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { beginAtZero: true, max: 100, grid: { color: "#eef0f3" }, ticks: { callback: (v) => `${v}%` } },
      },
    },
  });
}

export function renderCharts(root) {
  const source = root.getElementById("usage-charts");
  if (!source) return [];
  const data = JSON.parse(source.textContent);
  const { time, ttft, cache } = data;
  return [
    barChart(root.getElementById("chart-tokens"), {
      labels: time.labels, tiers: time.tiers, values: time.tokens, stacked: true, unit: "tokens",
    }),
    barChart(root.getElementById("chart-requests"), {
      labels: time.labels, tiers: time.tiers, values: time.requests, stacked: true, unit: "requests",
    }),
    barChart(root.getElementById("chart-ttft"), {
      labels: ttft.labels, tiers: ttft.tiers, values: ttft.counts, stacked: false, unit: "requests",
    }),
    shareChart(root.getElementById("chart-cache"), cache),
  ].filter(Boolean);
}

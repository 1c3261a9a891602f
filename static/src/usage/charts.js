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

export function renderCharts(root) {
  const source = root.getElementById("usage-charts");
  if (!source) return [];
  const data = JSON.parse(source.textContent);
  const { time, ttft } = data;
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
  ].filter(Boolean);
}

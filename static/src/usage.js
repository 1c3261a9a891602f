// The usage dashboard: charts drawn from the same JSON as the tables under them.
import { renderCharts } from "./usage/charts.js";
import { installRangeToggle } from "./usage/filters.js";

installRangeToggle(document);
renderCharts(document);

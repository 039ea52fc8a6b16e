import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { Report, type ReportData } from './report.tsx';

const el = document.getElementById('report-data');
const data = JSON.parse(el?.textContent ?? 'null') as ReportData | string | null;
const app = document.getElementById('app') as HTMLElement;
if (data === null || typeof data === 'string') app.textContent = 'This is the report template: it holds no data.';
else render(<Report data={data} />, app);

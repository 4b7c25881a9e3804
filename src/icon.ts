import { LabIcon } from '@jupyterlab/ui-components';

// A spark: four rays around a dot.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 1.5l1.9 6.2L20 5.5l-3.6 5.2L22.5 12l-6.1 1.3 3.6 5.2-6.1-2.2L12 22.5l-1.9-6.2L4 18.5l3.6-5.2L1.5 12l6.1-1.3L4 5.5l6.1 2.2z"/>
  </g>
</svg>`;

export const sparkIcon = new LabIcon({
  name: 'jupyter-spark-broker:spark',
  svgstr: svg
});

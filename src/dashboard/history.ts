import type { ChartMarker, Sample } from './view-model.js';

/** The last `spanMs` of samples and markers, in bounded memory whatever the uptime. */
export class History {
  private readonly samples: Sample[] = [];
  private readonly markers: ChartMarker[] = [];

  constructor(
    private readonly spanMs = 15 * 60_000,
    private readonly maxMarkers = 500,
  ) {}

  add(sample: Sample): void {
    this.samples.push(sample);
    const oldest = sample.t - this.spanMs;
    while (this.samples.length && this.samples[0].t < oldest) this.samples.shift();
  }

  /** Adds a marker once (same time and label). */
  mark(marker: ChartMarker): boolean {
    if (this.markers.some((m) => m.t === marker.t && m.label === marker.label)) return false;
    this.markers.push(marker);
    this.markers.sort((a, b) => a.t - b.t);
    const oldest = Date.now() - this.spanMs;
    while (this.markers.length && (this.markers[0].t < oldest || this.markers.length > this.maxMarkers))
      this.markers.shift();
    return true;
  }

  allSamples(): readonly Sample[] {
    return this.samples;
  }

  allMarkers(): readonly ChartMarker[] {
    return this.markers;
  }
}

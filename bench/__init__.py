"""The benchmark suite (`make bench`): workloads, baseline apps, a FHIR stub and the figures of issue 8."""

"""The project's local cloud: moto's server as the AWS endpoint, resources from template.yaml,
the functions' real Lambda entry points, and a dispatcher that fires schedules. No Docker, no AWS."""

"""AWS actuators, one module per service, on what `actuators.aws.base` shares.

- `actuators.aws.autoscaling.AutoScalingGroup`: an EC2 Auto Scaling group's sizes and
  on-demand split.
- `actuators.aws.sagemaker.SageMakerVariant`: the instance count of a SageMaker endpoint's
  production variant.
- `actuators.aws.lambda_concurrency.LambdaProvisionedConcurrency`: a Lambda alias's provisioned
  concurrency.
- `actuators.aws.alb.AlbWeightedRoute`: the serverless share of an ALB listener or rule.

Each class takes a boto3 client it does not configure. In production build it with botocore's
standard retry mode (`Config(retries={"mode": "standard"})`, 3 attempts with jittered backoff for
throttling, 5xx and connection errors): what still fails reaches us as a `TransientError` and the
caller retries later with its own backoff. Tests build clients with
`retries={"total_max_attempts": 1}` to see the first error (`{"max_attempts": 1}` still allows
one retry: botocore counts retries there, not attempts).
"""

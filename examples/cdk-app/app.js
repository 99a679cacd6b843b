#!/usr/bin/env node
// A CDK app as `cdk init` would make one, in plain JavaScript so that synthesizing it needs no
// compiler: a state machine that invokes a Node.js function and checks what it answered.
// `npx cdk synth` writes cdk.out/StepsStack.template.json, which Stepline runs as it is:
//
//   npx cdk synth --no-version-reporting --no-notices --quiet
//   stepline run Greeting --project examples/cdk-app --input '{"name": "CDK"}'
const path = require('path');
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const sfn = require('aws-cdk-lib/aws-stepfunctions');
const tasks = require('aws-cdk-lib/aws-stepfunctions-tasks');

class StepsStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);

    const greet = new lambda.Function(this, 'GreetFunction', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, 'lambda')),
      timeout: cdk.Duration.seconds(10),
      environment: { GREETING: 'Hello' },
    });

    const invoke = new tasks.LambdaInvoke(this, 'Greet', {
      lambdaFunction: greet,
      payloadResponseOnly: true,
      resultPath: '$.greeting',
    });
    const done = new sfn.Succeed(this, 'Done');
    const refused = new sfn.Fail(this, 'Refused', { error: 'NoGreeting', cause: 'the function answered no message' });
    const check = new sfn.Choice(this, 'Greeted?')
      .when(sfn.Condition.isPresent('$.greeting.message'), done)
      .otherwise(refused);

    new sfn.StateMachine(this, 'Greeting', {
      definitionBody: sfn.DefinitionBody.fromChainable(invoke.next(check)),
      timeout: cdk.Duration.minutes(1),
    });
  }
}

const app = new cdk.App();
new StepsStack(app, 'StepsStack', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

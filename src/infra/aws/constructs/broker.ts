import { Construct } from 'constructs';
import { TerraformLocal } from 'cdktf';
import { MqBroker } from '@cdktf/provider-aws/lib/mq-broker/index.js';
import { PORTS } from './network.js';

export const ACTIVEMQ_VERSION = '5.18';

export interface BrokerProps {
  readonly name: string;
  readonly instanceType: string;
  /** Two private subnets (active/standby across two zones). */
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  readonly kmsKeyArn: string;
  readonly username: string;
  /** Terraform expression of the password (from the replicated broker secret). */
  readonly password: string;
}

/**
 * The region's Amazon MQ for ActiveMQ broker: private, active/standby across two zones, encrypted with the
 * regional key. Amazon MQ exposes MQTT only as `mqtt+ssl` (TLS, port 8883); the broker security group admits only
 * that port, so plain MQTT (1883) is not reachable.
 */
export class Broker extends Construct {
  readonly arn: string;
  readonly id: string;
  /** Terraform expression: `mqtts://host:8883` of the active and the standby instance, comma-separated. */
  readonly mqttsEndpoints: string;
  readonly port = PORTS.mqttTls;

  constructor(scope: Construct, id: string, props: BrokerProps) {
    super(scope, id);
    const broker = new MqBroker(this, 'broker', {
      brokerName: props.name,
      engineType: 'ActiveMQ',
      engineVersion: ACTIVEMQ_VERSION,
      hostInstanceType: props.instanceType,
      deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
      publiclyAccessible: false,
      subnetIds: [...props.subnetIds],
      securityGroups: [props.securityGroupId],
      authenticationStrategy: 'simple',
      autoMinorVersionUpgrade: true,
      applyImmediately: false,
      encryptionOptions: { useAwsOwnedKey: false, kmsKeyId: props.kmsKeyArn },
      logs: { general: true },
      maintenanceWindowStartTime: { dayOfWeek: 'SUNDAY', timeOfDay: '03:00', timeZone: 'UTC' },
      // Console access lets the inbound gateways read their sessions' pending count from the broker's Jolokia API
      // (services/messaging/broker-backlog.ts): no CloudWatch metric counts what an MQTT session's durable
      // subscriptions hold. Under simple authentication without an authorization map this user already has every
      // right on every destination, and the console listens inside the VPC only (publiclyAccessible: false).
      user: [{ username: props.username, password: props.password, consoleAccess: true }],
    });
    this.arn = broker.arn;
    this.id = broker.id;
    // A local, so the expression can be used inside other functions (jsonencode of container definitions).
    const endpoints = new TerraformLocal(
      this,
      'mqtts_endpoints',
      `\${join(",", [for i in ${broker.fqn}.instances : ` +
        `replace(one([for e in i.endpoints : e if startswith(e, "mqtt+ssl://")]), "mqtt+ssl://", "mqtts://")])}`,
    );
    this.mqttsEndpoints = endpoints.asString;
  }
}

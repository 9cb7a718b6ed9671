package credref

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// AWSConfig configures AWS Secrets Manager. Credentials and the region
// come from the SDK's default chain (environment, shared config, IRSA or
// EKS Pod Identity, instance role) unless set here.
type AWSConfig struct {
	// Region overrides the default region.
	Region string
	// Endpoint overrides the service endpoint (LocalStack, a VPC endpoint).
	Endpoint string
}

// awsBackend reads secrets with GetSecretValue (the current version).
type awsBackend struct {
	cfg AWSConfig

	once sync.Once
	sm   *secretsmanager.Client
	err  error
}

func (b *awsBackend) init(ctx context.Context) (*secretsmanager.Client, error) {
	b.once.Do(func() {
		// The SDK's own HTTP client: it honours AWS_CA_BUNDLE and the like.
		var opts []func(*config.LoadOptions) error
		if b.cfg.Region != "" {
			opts = append(opts, config.WithRegion(b.cfg.Region))
		}
		c, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			b.err = fmt.Errorf("aws configuration: %w", err)
			return
		}
		b.sm = secretsmanager.NewFromConfig(c, func(o *secretsmanager.Options) {
			if b.cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(b.cfg.Endpoint)
			}
		})
	})
	return b.sm, b.err
}

func (b *awsBackend) resolve(ctx context.Context, r Ref) (string, error) {
	sm, err := b.init(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.Name)})
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	v := aws.ToString(out.SecretString)
	if v == "" && len(out.SecretBinary) > 0 {
		v = string(out.SecretBinary)
	}
	if v == "" {
		return "", fmt.Errorf("%s: the secret is empty", r)
	}
	if r.Field != "" {
		return jsonField(r, v, r.Field)
	}
	return v, nil
}

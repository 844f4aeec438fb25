package v1alpha1_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1 "github.com/graphkeeper/neo4j-backup-operator/api/v1alpha1"
)

func readSample(file string, into client.Object) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", file))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(data, into)).To(Succeed(), "%s has only fields the API knows", file)
	into.SetNamespace(namespace)
	into.SetName("sample-" + into.GetName())
}

// The samples are what a user applies first; they must be accepted as they are, and the defaults
// the API server fills in are the ones the documentation promises.
var _ = Describe("the samples in config/samples", func() {
	It("accepts the nightly schedule and fills in its defaults", func() {
		s := &v1.BackupSchedule{}
		readSample("backup_v1alpha1_backupschedule.yaml", s)
		Expect(k8sClient.Create(ctx, s)).To(Succeed())

		Expect(s.Spec.TimeZone).To(Equal("Europe/Berlin"))
		Expect(s.Spec.Suspend).To(BeFalse())
		Expect(s.Spec.ConcurrencyPolicy).To(Equal(v1.ConcurrencyForbid))
		Expect(*s.Spec.SuccessfulBackupsHistoryLimit).To(BeEquivalentTo(3))
		Expect(*s.Spec.FailedBackupsHistoryLimit).To(BeEquivalentTo(3))
		t := s.Spec.Template
		Expect(t.Type).To(Equal(v1.BackupAuto))
		Expect(t.Source.Policy).To(Equal(v1.SourcePreferReadReplica))
		Expect(t.Cluster.BackupPort).To(BeEquivalentTo(6362))
		Expect(*t.ConsistencyCheck.Enabled).To(BeTrue())
		Expect(t.Storage.Zone.Policy).To(Equal(v1.ZoneAvoidClusterZones))
		Expect(t.Storage.Zone.AllowSameZone).To(BeFalse())
		Expect(t.Storage.DeletionPolicy).To(Equal(v1.DeletionRetain))
		Expect(*t.BackoffLimit).To(BeEquivalentTo(2))
		Expect(t.Memory.HeapSize.String()).To(Equal("2Gi"))
		Expect(t.Memory.Overhead.String()).To(Equal("512Mi"))
		Expect(t.Memory.Limit).To(BeNil())
		Expect(t.Databases).To(Equal([]string{"*"}))
		Expect(s.Spec.Verify.Database).To(Equal("neo4j"))
		Expect(s.Spec.Verify.OlderChain).To(BeFalse())
		Expect(*s.Spec.Verify.HistoryLimit).To(BeEquivalentTo(3))
		Expect(s.Spec.Verify.Scratch.Size.String()).To(Equal("200Gi"))
	})

	It("accepts the on-demand backup and fills in its defaults", func() {
		b := &v1.Backup{}
		readSample("backup_v1alpha1_backup.yaml", b)
		Expect(k8sClient.Create(ctx, b)).To(Succeed())

		Expect(b.Spec.Type).To(Equal(v1.BackupFull))
		Expect(b.Spec.Databases).To(Equal([]string{"neo4j", "movies"}))
		Expect(b.Spec.Source.Policy).To(Equal(v1.SourcePreferReadReplica))
		Expect(b.Spec.Cluster.BackupPort).To(BeEquivalentTo(6362))
		Expect(b.Spec.Memory.HeapSize.String()).To(Equal("1Gi"))
		Expect(b.Spec.Memory.PageCache.String()).To(Equal("512Mi"))
		Expect(b.Spec.Storage.Zone.Policy).To(Equal(v1.ZoneAvoidClusterZones))
		Expect(b.Spec.Storage.DeletionPolicy).To(Equal(v1.DeletionRetain))
	})

	It("accepts the point-in-time restore and fills in its defaults", func() {
		r := &v1.Restore{}
		readSample("backup_v1alpha1_restore.yaml", r)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		Expect(r.Spec.ReplaceExisting).To(BeFalse())
		Expect(r.Spec.CredentialsSecret.UsernameKey).To(Equal("username"))
		Expect(r.Spec.CredentialsSecret.PasswordKey).To(Equal("password"))
		Expect(r.Spec.RestoreUntil).To(Equal("2026-11-28T01:30:00Z"))
		Expect(r.Spec.Memory.HeapSize.String()).To(Equal("1Gi"))
	})

	It("a backup without databases backs up neo4j", func() {
		b := validBackup("default-databases")
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		Expect(b.Spec.Databases).To(Equal([]string{"neo4j"}))
		Expect(b.Spec.Type).To(Equal(v1.BackupAuto))
	})
})

var _ = Describe("admission of valid time zones", func() {
	for i, tz := range []string{"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Etc/GMT+10", "Pacific/Kiritimati"} {
		It("accepts "+tz, func() {
			s := validSchedule("tz-" + string(rune('a'+i)))
			s.Spec.TimeZone = tz
			Expect(k8sClient.Create(ctx, s)).To(Succeed())
		})
	}
})

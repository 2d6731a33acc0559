/** DI token for the host's /dev/kvm system (a Kvm). */
export const KVM = Symbol.for('kvm-core.Kvm');

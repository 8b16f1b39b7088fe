# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova virt driver of the local test cloud: a fake hypervisor that plugs real OVS ports.

`tests/cloud/cloud` copies this file into the cloud's own venv as `nova/virt/portsec_fake.py`
(Nova only loads drivers from the `nova.virt` package) and sets
`compute_driver = portsec_fake.PlugFakeDriver`.

The hypervisor is fake (Nova's `FakeDriverWithoutFakeNodes`: stable node name and node UUID,
survives restarts), but the guest is a real network namespace (`portsec_guests.py`, copied next
to this file): each Neutron port of the server becomes a veth pair, the OVS end on the integration
bridge with `external_ids:iface-id=<port id>` as os-vif would plug a real guest, the other end in
the server's namespace with the port's MAC, fixed IPs and the subnet's default route. So
ovn-controller claims the port in the OVN southbound database, Neutron sets it ACTIVE, OVN's flows
for port security and security groups are installed in the userspace datapath, and packets sent
in the namespace go through them.
"""

from oslo_log import log as logging

from nova.virt import fake

try:
    from nova.virt import portsec_guests      # copied next to this file by `cloud start`
except ImportError:                            # run from tests/cloud/lib
    import portsec_guests

LOG = logging.getLogger(__name__)


def _ips(vif):
    """The port's fixed IPv4/IPv6 addresses with their prefix lengths, and the gateway of the
    first subnet that has one."""
    ips, gateway = [], None
    for subnet in (vif.get('network') or {}).get('subnets') or []:
        cidr = subnet.get('cidr') or ''
        plen = cidr.split('/')[1] if '/' in cidr else ('32' if subnet.get('version') == 4
                                                       else '128')
        for ip in subnet.get('ips') or []:
            ips.append('%s/%s' % (ip['address'], plen))
        gw = (subnet.get('gateway') or {}).get('address')
        if gw and gateway is None and subnet.get('version', 4) == 4 and subnet.get('ips'):
            gateway = gw
    return ips, gateway


def plug(instance, vif):
    ips, gateway = _ips(vif)
    try:
        # os-vif plugs a VIF whose binding says ovs_hybrid_plug (ML2/OVS, iptables_hybrid
        # firewall) through a Linux bridge; portsec_guests does the same
        hybrid = bool((vif.get('details') or {}).get('ovs_hybrid_plug'))
        ns, ifname = portsec_guests.plug(instance.uuid, instance.display_name or instance.uuid,
                                         vif['id'], vif['address'], ips, gateway, hybrid=hybrid)
        LOG.info('portsec_fake: port %s is %s in namespace %s (%s)', vif['id'], ifname, ns,
                 ', '.join(ips))
    except Exception as exc:   # a guest that fails to plug must not fail the boot
        LOG.error('portsec_fake: plugging port %s failed: %s', vif['id'], exc)


def unplug(instance, vif):
    try:
        portsec_guests.unplug(instance.uuid, vif['id'])
    except Exception as exc:
        LOG.error('portsec_fake: unplugging port %s failed: %s', vif['id'], exc)


class PlugFakeDriver(fake.FakeDriverWithoutFakeNodes):
    """FakeDriverWithoutFakeNodes whose VIFs are real OVS interfaces."""

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        super().spawn(context, instance, image_meta, injected_files,
                      admin_password, allocations, network_info=network_info,
                      block_device_info=block_device_info, power_on=power_on,
                      accel_info=accel_info)
        for vif in network_info or []:
            plug(instance, vif)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        for vif in network_info or []:
            unplug(instance, vif)
        super().destroy(context, instance, network_info,
                        block_device_info=block_device_info,
                        destroy_disks=destroy_disks,
                        destroy_secrets=destroy_secrets)
        try:
            portsec_guests.remove_server(instance.uuid)
        except Exception as exc:
            LOG.error('portsec_fake: removing the guest of %s failed: %s', instance.uuid, exc)

    def attach_interface(self, context, instance, image_meta, vif):
        super().attach_interface(context, instance, image_meta, vif)
        plug(instance, vif)

    def detach_interface(self, context, instance, vif):
        unplug(instance, vif)
        super().detach_interface(context, instance, vif)

    def plug_vifs(self, instance, network_info):
        # Called on nova-compute start for running instances: re-plug after a restart
        # (`stop` removes the bridges).
        for vif in network_info or []:
            plug(instance, vif)

    def unplug_vifs(self, instance, network_info):
        for vif in network_info or []:
            unplug(instance, vif)

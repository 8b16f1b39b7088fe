# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova virt driver of the local test cloud: a fake hypervisor that plugs real OVS ports.

`tests/cloud/cloud` copies this file into the cloud's own venv as `nova/virt/portsec_fake.py`
(Nova only loads drivers from the `nova.virt` package) and sets
`compute_driver = portsec_fake.PlugFakeDriver`.

The guest is fake (Nova's `FakeDriverWithoutFakeNodes`: stable node name and node UUID, survives
restarts), but each of its Neutron ports becomes a real OVS internal interface on the integration
bridge with `external_ids:iface-id=<port id>`, as os-vif would create for a real guest. So
ovn-controller claims the port in the OVN southbound database, Neutron sets it ACTIVE and OVN's
flows for port security and security groups are installed for it in the userspace datapath.
"""

import os
import subprocess

from oslo_log import log as logging

from nova.virt import fake

LOG = logging.getLogger(__name__)

_OVS_DB = os.environ.get('PORTSEC_OVS_DB', 'unix:/var/run/openvswitch/db.sock')
_BRIDGE = os.environ.get('PORTSEC_INTEGRATION_BRIDGE', 'br-int')


def _devname(vif):
    return (vif.get('devname') or ('tap' + vif['id']))[:14]


def _vsctl(*args):
    cmd = ['ovs-vsctl', '--db=' + _OVS_DB, '--timeout=10'] + list(args)
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        LOG.error('portsec_fake: %s failed: %s', ' '.join(cmd),
                  getattr(exc, 'stderr', exc))


def plug(instance, vif):
    dev = _devname(vif)
    _vsctl('--may-exist', 'add-port', _BRIDGE, dev,
           '--', 'set', 'Interface', dev, 'type=internal',
           'external_ids:iface-id=%s' % vif['id'],
           'external_ids:attached-mac=%s' % vif['address'],
           'external_ids:iface-status=active',
           'external_ids:vm-uuid=%s' % instance.uuid)


def unplug(vif):
    _vsctl('--if-exists', 'del-port', _BRIDGE, _devname(vif))


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
            unplug(vif)
        super().destroy(context, instance, network_info,
                        block_device_info=block_device_info,
                        destroy_disks=destroy_disks,
                        destroy_secrets=destroy_secrets)

    def attach_interface(self, context, instance, image_meta, vif):
        super().attach_interface(context, instance, image_meta, vif)
        plug(instance, vif)

    def detach_interface(self, context, instance, vif):
        unplug(vif)
        super().detach_interface(context, instance, vif)

    def plug_vifs(self, instance, network_info):
        # Called on nova-compute start for running instances: re-plug after a restart
        # (`stop` removes the bridges).
        for vif in network_info or []:
            plug(instance, vif)

    def unplug_vifs(self, instance, network_info):
        for vif in network_info or []:
            unplug(vif)
